import { Elysia } from "elysia";
import { Refused, tooLarge as tooLargeProblem } from "./errors.ts";
import { problem } from "./problem.ts";

const tooLarge = () => new Refused(tooLargeProblem());

/** The body as text, read no further than `maxBytes`: a larger one is refused mid-stream. */
const readBounded = async (request: Request, maxBytes: number): Promise<string> => {
  if (request.body === null) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
};

/** A field sent more than once becomes a list, which no string schema takes: never "last wins". */
const formFields = (text: string) => {
  const fields: Record<string, string | string[]> = {};
  for (const [name, value] of new URLSearchParams(text)) {
    const seen = fields[name];
    fields[name] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
  }
  return fields;
};

export const bodies = (maxBytes: number) =>
  new Elysia({ name: "bodies", seed: maxBytes }).onParse(
    { as: "scoped" },
    async ({ request, contentType }) => {
      if (Number(request.headers.get("content-length") ?? 0) > maxBytes) throw tooLarge();
      const text = await readBounded(request, maxBytes);
      if (text === "") return {};
      const type = contentType?.split(";")[0]?.trim().toLowerCase();
      if (type === "application/x-www-form-urlencoded") {
        return formFields(text);
      }
      if (type !== "application/json") {
        throw new Refused(
          problem(415, "Send application/json or application/x-www-form-urlencoded."),
        );
      }
      try {
        return JSON.parse(text);
      } catch {
        throw new Refused(problem(400, "The body is not valid JSON."));
      }
    },
  );
