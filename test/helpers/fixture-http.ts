// A local HTTP server on 127.0.0.1 that answers exactly the bytes a test gives it, and records
// what was asked: for checking a client against a service's real response shapes.
import { type Server, createServer } from "node:http";

export interface FixtureServer {
  url: string;
  /** the next answers (the last one repeats) */
  reply(status: number, body: string, type?: string): void;
  paths: string[];
  close(): Promise<void>;
}

export async function startFixtureServer(): Promise<FixtureServer> {
  let answer = { status: 200, body: "{}", type: "application/json" };
  const paths: string[] = [];
  const server: Server = createServer((req, res) => {
    paths.push(req.url ?? "");
    res.writeHead(answer.status, { "content-type": answer.type }).end(answer.body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  return {
    url: `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`,
    reply: (status, body, type = "application/json") => void (answer = { status, body, type }),
    paths,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
