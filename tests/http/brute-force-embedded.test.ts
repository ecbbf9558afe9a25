import { bruteForceSuite, lockoutEndSuite } from "./bruteForceSuite.ts";

bruteForceSuite("embedded");
lockoutEndSuite("embedded");
