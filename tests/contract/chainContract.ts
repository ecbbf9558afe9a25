import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { Effect } from "effect";
import { genesis, linkHash, merkle } from "../../src/adapters/chain/hashChain.ts";
import { chainChecker } from "../../src/adapters/chain/verify.ts";
import type { EventStore, StoredLink } from "../../src/application/ports/EventStore.ts";

type Service = EventStore["Service"];

const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect);

const event = (type: string, data: unknown = { n: type }) => ({ type, data });

/** Hash chains, links and seal points every EventStore adapter must offer. */
export const chainContract = (
  name: string,
  fresh: () => Promise<{ readonly store: Service; readonly dispose: () => Promise<void> }>,
) =>
  describe(`EventStore hash chain contract: ${name}`, () => {
    let store: Service;
    let dispose: () => Promise<void>;

    beforeEach(async () => {
      ({ store, dispose } = await fresh());
    });
    afterEach(() => dispose());

    const allLinks = async () => {
      const links: StoredLink[] = [];
      await run(store.links((batch) => Effect.sync(() => links.push(...batch))));
      return links;
    };

    test("each event's hash is SHA-256 of the previous one and its canonical fields", async () => {
      await run(
        store.append("b", [event("B1"), event("B2", { text: "é ☃", n: 1.5 })], {
          expectedVersion: 0,
          metadata: { actor: "tester" },
        }),
      );
      await run(store.append("a", [event("A1")], { expectedVersion: 0 }));
      await run(store.append("b", [event("B3")], { expectedVersion: 2 }));
      const links = await allLinks();
      expect(links.map((link) => `${link.streamId}${link.version}`)).toEqual([
        "a1",
        "b1",
        "b2",
        "b3",
      ]);
      const decoded = links.map((link) =>
        link.fields.map((field) => new TextDecoder().decode(field)),
      );
      expect(decoded[0]?.slice(0, 3)).toEqual(["a", "1", "A1"]);
      expect(JSON.parse(decoded[2]?.[3] ?? "")).toEqual({ text: "é ☃", n: 1.5 });
      expect(JSON.parse(decoded[2]?.[4] ?? "")).toEqual({ actor: "tester" });
      const [a1, b1, b2, b3] = links;
      const recorded = await run(store.readStream("b"));
      expect(Math.floor(Number(decoded[1]?.[5]) / 1000)).toBe(
        recorded[0]?.recordedAt.getTime() ?? 0,
      );
      expect(
        Buffer.from(a1?.hash ?? []).equals(linkHash(genesis, a1?.fields ?? ([] as never))),
      ).toBe(true);
      expect(
        Buffer.from(b1?.hash ?? []).equals(linkHash(genesis, b1?.fields ?? ([] as never))),
      ).toBe(true);
      expect(
        Buffer.from(b2?.hash ?? []).equals(
          linkHash(b1?.hash ?? genesis, b2?.fields ?? ([] as never)),
        ),
      ).toBe(true);
      expect(
        Buffer.from(b3?.hash ?? []).equals(
          linkHash(b2?.hash ?? genesis, b3?.fields ?? ([] as never)),
        ),
      ).toBe(true);
    });

    test("multi-stream appends chain every stream from its own head", async () => {
      await run(store.append("x", [event("X1")], { expectedVersion: 0 }));
      await run(
        store.appendMany([
          { streamId: "x", events: [event("X2"), event("X3")], expectedVersion: 1 },
          { streamId: "y", events: [event("Y1")], expectedVersion: 0 },
        ]),
      );
      const checker = chainChecker(null);
      expect(checker.add(await allLinks())).toBe(true);
      expect(checker.finish()).toEqual({ streams: 2, broken: null, seal: null });
    });

    test("a refused append leaves the chain as it was", async () => {
      await run(store.append("x", [event("X1")], { expectedVersion: 0 }));
      const before = await allLinks();
      await run(Effect.flip(store.append("x", [event("X2")], { expectedVersion: 0 })));
      expect(await allLinks()).toEqual(before);
    });

    test("a seal point covers every event so far: the Merkle root of each stream's head", async () => {
      await run(store.append("b", [event("B1"), event("B2")], { expectedVersion: 0 }));
      const appended = await run(store.append("a", [event("A1")], { expectedVersion: 0 }));
      const point = await run(store.sealPoint);
      const links = await allLinks();
      const tree = merkle();
      tree.add(new TextEncoder().encode("a"), links[0]?.hash ?? genesis);
      tree.add(new TextEncoder().encode("b"), links[2]?.hash ?? genesis);
      expect(point).toEqual({
        upTo: appended.events[0]?.position ?? 0,
        streams: 2,
        root: tree.root(),
        sealVersion: 0,
        sealPosition: 0,
      });
      await run(store.append("a", [event("A2")], { expectedVersion: 1 }));
      const checker = chainChecker({ ...point, signature: "", position: 0 });
      checker.add(await allLinks());
      expect(checker.finish().seal).toBeNull();
    });

    test("an empty log seals to the root of no streams", async () => {
      const point = await run(store.sealPoint);
      expect(point).toMatchObject({ upTo: 0, streams: 0, root: merkle().root() });
    });

    test("lastOf answers a stream's newest event, or null", async () => {
      await run(store.append("s", [event("S1"), event("S2")], { expectedVersion: 0 }));
      expect((await run(store.lastOf("s")))?.type).toBe("S2");
      expect(await run(store.lastOf("none"))).toBeNull();
    });
  });
