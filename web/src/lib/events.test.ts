import { describe, expect, it } from "vitest";
import { affectedQueries, describeEvent } from "./events";
import { ApiError } from "../api/client";

describe("describeEvent", () => {
  it("turns an order event into a toast", () => {
    const d = describeEvent({ subject: "evt.u1.order.rejected", data: { transactionType: "BUY", quantity: 2, securityId: "2885", reason: "no funds" } });
    expect(d).toEqual({ title: "Order rejected", body: "BUY 2 × 2885 — no funds", tone: "error" });
  });
  it("leaves placed and filled orders to the notify service's notifications when it runs", () => {
    expect(describeEvent({ subject: "evt.u1.order.filled", data: {} }, true)).toBeNull();
    expect(describeEvent({ subject: "evt.u1.order.cancelled", data: {} }, true)?.title).toBe("Order cancelled");
    expect(describeEvent({ subject: "evt.u1.notification.created", data: { title: "Order filled", message: "BUY 1", severity: "success" } }, true))
      .toEqual({ title: "Order filled", body: "BUY 1", tone: "success" });
  });
  it("ignores domains that are not worth a toast", () => {
    expect(describeEvent({ subject: "evt.u1.auth.login", data: {} })).toBeNull();
  });
  it("re-reads orders, trades and the portfolio after an order event", () => {
    expect(affectedQueries("evt.u1.order.filled")).toEqual(["order", "trade", "portfolio", "deployment"]);
  });
});

describe("ApiError", () => {
  it("maps details[].field to the form's fields", () => {
    const e = new ApiError(400, { error: "VALIDATION_ERROR", code: 400, message: "Invalid input data",
      details: [{ field: "email", message: "Invalid email format" }] });
    expect(e.fields).toEqual({ email: "Invalid email format" });
    expect(e.message).toBe("Invalid input data");
  });
});
