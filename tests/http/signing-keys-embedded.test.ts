import { hs256KeysSuite, signingKeysSuite } from "./signingKeysSuite.ts";

signingKeysSuite("embedded", "ES256");
signingKeysSuite("embedded", "EdDSA");
hs256KeysSuite("embedded");
