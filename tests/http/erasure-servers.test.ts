import { erasureSuite } from "./erasureSuite.ts";

erasureSuite("servers");
