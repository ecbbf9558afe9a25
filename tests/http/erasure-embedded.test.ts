import { erasureSuite } from "./erasureSuite.ts";

erasureSuite("embedded");
