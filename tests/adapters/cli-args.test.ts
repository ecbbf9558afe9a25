import { expect, test } from "bun:test";
import { parseCommandLine } from "../../src/adapters/cli/args.ts";

const options = {
  reason: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

test("a kid that begins with a dash is an argument, not an option", () => {
  const parsed = parseCommandLine(["keys", "revoke", "-x9Q_a", "--reason", "-early"], options);
  expect(parsed.positionals).toEqual(["keys", "revoke", "-x9Q_a"]);
  expect(parsed.values).toEqual({ reason: "-early" });
});

test("options keep their forms: --name value, --name=value, a short flag, and -- ends them", () => {
  const parsed = parseCommandLine(
    ["--json", "keys", "--reason=a b", "-h", "--", "--json"],
    options,
  );
  expect(parsed.positionals).toEqual(["keys", "--json"]);
  expect(parsed.values).toEqual({ json: true, reason: "a b", help: true });
});

test("an unknown option is an argument, so the command's arity refuses it", () => {
  expect(parseCommandLine(["keys", "list", "--bogus"], options).positionals).toEqual([
    "keys",
    "list",
    "--bogus",
  ]);
});
