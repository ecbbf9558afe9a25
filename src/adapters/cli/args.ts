import { type ParseArgsConfig, parseArgs } from "node:util";

type Options = NonNullable<ParseArgsConfig["options"]>;

/**
 * `parseArgs`, where whatever names no option is a positional: a kid (a base64url thumbprint)
 * may begin with "-". An unknown option then shows as a wrong argument.
 */
export const parseCommandLine = <O extends Options>(args: readonly string[], options: O) => {
  const shorts = new Map(
    Object.entries(options).flatMap(([name, option]) =>
      option.short ? [[option.short, name]] : [],
    ),
  );
  const nameOf = (arg: string) =>
    arg.startsWith("--") ? arg.slice(2).split("=")[0] : shorts.get(arg.slice(1));
  const flags: string[] = [];
  const plain: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (arg === "--") {
      plain.push(...args.slice(i + 1));
      break;
    }
    const name = arg.startsWith("-") ? nameOf(arg) : undefined;
    if (name === undefined || !(name in options)) {
      plain.push(arg);
      continue;
    }
    const next = args[i + 1];
    // As --name=value: a value may begin with "-" too.
    if (options[name]?.type === "string" && !arg.includes("=") && next !== undefined) {
      flags.push(`--${name}=${next}`);
      i++;
    } else flags.push(arg);
  }
  return parseArgs({ args: [...flags, "--", ...plain], allowPositionals: true, options });
};
