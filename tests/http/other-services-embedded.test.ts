import { otherServicesSuite } from "./otherServicesSuite.ts";

otherServicesSuite("embedded");
