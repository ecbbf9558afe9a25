import { lifecycleSuite } from "./lifecycleSuite.ts";

lifecycleSuite("servers");
