import { hs256KeysSuite, signingKeysSuite } from "./signingKeysSuite.ts";

signingKeysSuite("servers", "ES256");
signingKeysSuite("servers", "EdDSA");
hs256KeysSuite("servers");
