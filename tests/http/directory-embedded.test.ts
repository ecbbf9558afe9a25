import { directorySuite } from "./directorySuite.ts";

directorySuite("embedded");
