// The block a client address belongs to, for limits keyed on the address (pure logic).
import { describe, expect, test } from "bun:test";
import { addressBlock } from "./client-ip";

describe("addressBlock", () => {
  test("IPv4 is itself; IPv4 written as IPv6 is that IPv4 address", () => {
    expect(addressBlock("192.0.2.1")).toBe("192.0.2.1");
    expect(addressBlock("::ffff:192.0.2.1")).toBe("192.0.2.1");
    expect(addressBlock("::FFFF:c000:0201")).toBe("192.0.2.1");
  });

  test("every IPv6 address of one /64 is one block, however it is written; another /64 is another", () => {
    const block = addressBlock("2001:db8:1:2::1");
    for (const address of ["2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:0DB8:0001:0002:0:0:0:9", "2001:db8:1:2::"]) {
      expect(addressBlock(address)).toBe(block);
    }
    expect(addressBlock("2001:db8:1:3::1")).not.toBe(block);
    expect(addressBlock("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(addressBlock("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
  });

  test("anything else (no address known) is kept as it is", () => {
    expect(addressBlock("unknown")).toBe("unknown");
  });
});
