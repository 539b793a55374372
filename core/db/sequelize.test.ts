import { describe, expect, inject, it } from "vitest";
import { openDatabase } from "./sequelize";

describe("openDatabase", () => {
  it("gives each holder its own pool and models: closing one leaves the other working", async () => {
    const a = openDatabase(inject("databaseUrl"));
    const b = openDatabase(inject("databaseUrl"));
    try {
      expect(a.models.User).not.toBe(b.models.User);
      expect(a.models.User.sequelize).toBe(a.sequelize);
      expect(b.models.User.sequelize).toBe(b.sequelize);
      await a.close();
      await a.close();
      await expect(a.models.User.count()).rejects.toThrow();
      expect(await b.models.User.count({ where: { email: "nobody@openDatabase.test" } })).toBe(0);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
