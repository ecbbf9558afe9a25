import { explainSuite } from "./explainSuite.ts";

explainSuite("servers");
