import { heavyTaskSuite } from "./heavyTaskSuite.ts";

heavyTaskSuite("embedded");
