import { oauth2TokenSuite } from "./oauth2TokenSuite.ts";

oauth2TokenSuite("servers");
