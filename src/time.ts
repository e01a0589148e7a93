/** RFC 3339 UTC with milliseconds, as every timestamp in the API and callbacks. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
