import { describe, expect, it } from "vitest";
import { holding } from "./Trades";

describe("holding", () => {
  it("says minutes, hours with minutes, then days with hours", () => {
    expect(holding(59)).toBe("0 m");
    expect(holding(25 * 60)).toBe("25 m");
    expect(holding(2 * 3600 + 5 * 60)).toBe("2 h 05 m");
    expect(holding(50 * 3600)).toBe("2 d 2 h");
  });
  it("is an em dash when unknown, never a made-up zero", () => {
    expect(holding(null)).toBe("—");
    expect(holding(undefined)).toBe("—");
  });
});
