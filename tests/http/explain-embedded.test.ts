import { explainSuite } from "./explainSuite.ts";

explainSuite("embedded");
