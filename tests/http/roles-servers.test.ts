import { rolesSuite } from "./rolesSuite.ts";

rolesSuite("servers");
