import { bruteForceSuite, lockoutEndSuite } from "./bruteForceSuite.ts";

bruteForceSuite("servers");
lockoutEndSuite("servers");
