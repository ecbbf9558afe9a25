import { lifecycleSuite } from "./lifecycleSuite.ts";

lifecycleSuite("embedded");
