#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpus (tests/fuzz/corpus), by hand from docs/protocol.md.

The value seed is checked by tests/net (it must decode as fuzz::everything), so this script
doubles as a second, independent implementation of the documented layout.
"""
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))


def u8(v): return struct.pack('<B', v)
def i8(v): return struct.pack('<b', v)
def i16(v): return struct.pack('<h', v)
def u16(v): return struct.pack('<H', v)
def i32(v): return struct.pack('<i', v)
def u32(v): return struct.pack('<I', v)
def i64(v): return struct.pack('<q', v)
def u64(v): return struct.pack('<Q', v)
def f32(v): return struct.pack('<f', v)
def f64(v): return struct.pack('<d', v)
def string(s): b = s.encode(); return u32(len(b)) + b
def leaf(name, count, flag): return string(name) + i32(count) + u8(1 if flag else 0)


def everything():
    out = u64(42)                                            # id
    out += string("hello")                                   # text
    out += u32(2) + leaf("a", 1, True) + leaf("bb", -2, False)  # leaves
    out += u8(1) + f64(0.5)                                  # maybe
    out += u32(2) + leaf("c", 3, True)                       # choice: alternative 2 (leaf)
    out += u32(1) + string("k") + u32(2) + i16(7) + i16(-7)  # table: {"k": [7, -7]}
    out += u32(2) + u8(1) + u8(9)                            # bytes: {1, 9}
    out += i8(-1) + u16(65535)                               # pair_field
    out += u8(1) + f32(1.5)                                  # tuple_field
    out += i64(1) + i64(-1)                                  # fixed
    out += i64(250)                                          # duration (microseconds)
    out += u8(1) + leaf("x", 0, False)                       # extra
    out += u64(7)                                            # node
    return out


def frame(ftype, body): return u32(1 + len(body)) + u8(ftype) + body


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(data)


write(os.path.join(here, 'corpus/value/everything.bin'), everything())
write(os.path.join(here, 'corpus/value/empty_containers.bin'),
      u64(0) + string("") + u32(0) + u8(0) + u32(0) + i32(5) + u32(0) + u32(0) + i8(0) + u16(0) +
      u8(0) + f32(0.0) + i64(0) + i64(0) + i64(0) + u8(0) + u64(0))
# Frame seeds: the first byte says how the fuzzer cuts the stream.
write(os.path.join(here, 'corpus/frame/heartbeats.bin'), u8(3) + frame(0x16, b'') + frame(0x16, b''))
write(os.path.join(here, 'corpus/frame/mixed.bin'),
      u8(1) + frame(0x11, everything()) + frame(0x12, b'\x01\x02') + frame(0x10, string("bank.deposit")))
# Node seeds (node_fuzz): byte 0 even = the handshake is fuzzed, odd = the harness completes a
# valid handshake first; byte 1 says how the stream is cut. The published actor is actor 1.
ECHO = 1
def hello(version, node, nonce=b'\x01' * 32): return frame(0x01, u16(version) + u64(node) + nonce)
write(os.path.join(here, 'corpus/node/hello.bin'), u8(0) + u8(7) + hello(2, 0xbeef))
write(os.path.join(here, 'corpus/node/wrong_version.bin'), u8(0) + u8(127) + hello(9, 0xbeef))
write(os.path.join(here, 'corpus/node/early_message.bin'),
      u8(0) + u8(3) + frame(0x11, u64(0) + u64(ECHO) + u64(1) + u64(0) + u32(0) + string("x")))
write(os.path.join(here, 'corpus/node/session.bin'),
      u8(1) + u8(5)
      + frame(0x14, u64(1) + string("echo"))                                   # lookup
      + frame(0x10, u32(0) + string("string"))                                 # type 0
      + frame(0x11, u64(0) + u64(ECHO) + u64(1) + u64(0) + u32(0) + string("hi"))       # request
      + frame(0x10, u32(1) + string("fuzz.everything"))                                 # type 1
      + frame(0x11, u64(5) + u64(ECHO) + u64(2) + u64(5000) + u32(1) + everything())   # request, 5 ms
      + frame(0x11, u64(0) + u64(ECHO) + u64(0) + u32(0) + string("send"))             # a send
      + frame(0x17, u64(2))                                                             # cancel
      + frame(0x17, u64(99))                                                            # cancel nothing
      + frame(0x13, u8(3) + u64(5) + u64(ECHO))                                # monitor
      + frame(0x13, u8(1) + u64(5) + u64(ECHO))                                # link
      + frame(0x13, u8(5) + u64(5) + u64(ECHO) + u8(3) + u8(11) + string("x")) # exit, error
      + frame(0x16, b''))                                                      # heartbeat
write(os.path.join(here, 'corpus/node/unknown_things.bin'),
      u8(1) + u8(64)
      + frame(0x10, u32(0) + string("nobody.knows"))
      + frame(0x11, u64(0) + u64(ECHO) + u64(1) + u64(0) + u32(0) + b'\x00')   # unknown type
      + frame(0x11, u64(0) + u64(999) + u64(2) + u64(0) + u32(0) + b'\x00')    # no such actor
      + frame(0x13, u8(3) + u64(5) + u64(999))                                 # monitor nobody
      + frame(0x12, u64(77) + u8(1) + u8(2) + string("")))                     # reply to nothing
# corpus/node/found_huge_budget.bin was found by node_fuzz (a request whose time budget overflowed
# the conversion to nanoseconds); it is kept as found, not generated here.
