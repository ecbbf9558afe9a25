import { readFileSync } from "node:fs";

const readme = `${import.meta.dir}/../../README.md`;

/** The fenced `lang` blocks of one README section (from its `## heading` to the next), in order. */
export const readmeBlocks = (heading: string, lang: string): string[] => {
  const text = readFileSync(readme, "utf8");
  const start = text.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README.md has no section "${heading}"`);
  const end = text.indexOf("\n## ", start + 1);
  const section = text.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, "g"))].map(
    (match) => match[1] ?? "",
  );
};

/** `text` with each `from` replaced by its `to`; each must occur exactly `times` times. */
export const substitute = (text: string, replacements: readonly [string, string, number][]) =>
  replacements.reduce((current, [from, to, times]) => {
    const found = current.split(from).length - 1;
    if (found !== times) throw new Error(`expected ${from} ${times} times, found it ${found}`);
    return current.replaceAll(from, to);
  }, text);
