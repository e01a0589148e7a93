// Bitcoin nodes send amounts as JSON numbers in BTC ("value": 0.50000000). JSON.parse would turn
// them into floats, so such answers are parsed with every number kept as its decimal text.

// A JSON string (skipped as is) or a JSON number (captured). Strings are matched first so digits
// inside them are never touched.
const TOKEN = /"[^"\\]*(?:\\.[^"\\]*)*"|(-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)/g;

/** JSON.parse, except that every number arrives as its exact source text (a string). */
export function parseJsonKeepingNumbers(text: string): unknown {
  return JSON.parse(
    text.replace(TOKEN, (token, number: string | undefined) =>
      number === undefined ? token : `"${number}"`,
    ),
  );
}
