import { main } from "../../composition.ts";

declare const Deno: {
  serve(
    options: { hostname: string; port: number; onListen: () => void },
    handler: (
      request: Request,
      info: { readonly remoteAddr: { readonly hostname: string } },
    ) => Response | Promise<Response>,
  ): { shutdown(): Promise<void> };
};

// Elysia learns the client's address from Bun's server only; under Deno it comes from here.
const peers = new WeakMap<Request, string>();

await main({
  runtime: "deno",
  peerAddress: (request) => peers.get(request),
  serve: (app, address) => {
    const server = Deno.serve({ ...address, onListen: () => {} }, (request, info) => {
      peers.set(request, info.remoteAddr.hostname);
      return app.fetch(request);
    });
    return { stop: () => server.shutdown() };
  },
});
