import { explainSuite, keyRevokedSuite } from "./explainSuite.ts";

explainSuite("embedded");
keyRevokedSuite("embedded");
