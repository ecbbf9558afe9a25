import { explainSuite, keyRevokedSuite } from "./explainSuite.ts";

explainSuite("servers");
keyRevokedSuite("servers");
