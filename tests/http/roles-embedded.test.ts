import { rolesSuite } from "./rolesSuite.ts";

rolesSuite("embedded");
