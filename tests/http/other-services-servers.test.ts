import { otherServicesSuite } from "./otherServicesSuite.ts";

otherServicesSuite("servers");
