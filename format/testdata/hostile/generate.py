#!/usr/bin/env python3
"""Regenerates the hostile dump fixtures in this directory (run from here).

Each subdirectory is a one-database dump with one defect; hostile_test.go
asserts the exact file and line of the error for each.
"""
import gzip
import hashlib
import json
import os


def md5(s):
    return hashlib.md5(s.encode()).hexdigest()


def mk(d, coll="c", struct=None, data=None, dataname=None, enc="none", dumpjson=None):
    os.makedirs(d, exist_ok=True)
    open(f"{d}/ENCRYPTION", "w").write(enc)
    open(f"{d}/dump.json", "w").write(dumpjson if dumpjson is not None else json.dumps(
        {"database": "h", "lastTickAtDumpStart": "1", "useEnvelope": False,
         "properties": {"id": "1", "name": "h", "isSystem": False}}))
    if struct is None:
        struct = json.dumps({"indexes": [], "parameters": {"name": coll, "type": 2, "cid": "7"}})
    if struct is not False:
        open(f"{d}/{coll}_{md5(coll)}.structure.json", "w").write(struct)
    if data is not None:
        open(f"{d}/{dataname or coll + '_' + md5(coll) + '.data.json'}", "wb").write(data)


gzname = "c_%s.data.json.gz" % md5("c")
lines = b"".join(b'{"_key":"k%d","v":%d}\n' % (i, i) for i in range(1, 201))
gz = gzip.compress(lines, mtime=0)
mk("truncated-gzip", data=gz[:len(gz) // 2], dataname=gzname)
bad = bytearray(gz)
for i in range(len(bad) // 3, len(bad) // 3 + 8):
    bad[i] ^= 0xff
mk("corrupt-gzip", data=bytes(bad), dataname=gzname)
mk("invalid-json-line", data=b'{"_key":"a"}\n{"_key":"b"}\n\n{"_key":"c",}\n{"_key":"d"}\n')
mk("invalid-json-line-gz", data=gzip.compress(b'{"_key":"a"}\n{"_key":"b"}\n{"_key":"c"\n', mtime=0), dataname=gzname)
mk("not-an-object-line", data=b'{"_key":"a"}\n[1,2]\n')
mk("structure-without-name", struct=json.dumps({"indexes": [], "parameters": {"type": 2, "cid": "7"}}, indent=1))
mk("dotdot-name", struct=json.dumps({"indexes": [], "parameters": {"name": "../../etc/passwd", "type": 2}}))
mk("slash-name", struct=json.dumps({"indexes": [], "parameters": {"name": "a/b", "type": 2}}))
mk("dotdot-id", struct=json.dumps({"indexes": [], "parameters": {"name": "ünïcode", "type": 2, "cid": "../x"}}), coll="x")
mk("encrypted", enc="aes-256-ctr", struct=False)
mk("invalid-dump-json", dumpjson='{\n "database": "h",\n "lastTickAtDumpStart": 1,,\n}\n', struct=False)
mk("invalid-structure", struct='{"indexes":[],\n"parameters":{"name":"c",\n"type":2\n')
mk("hostile-manifest")
open("hostile-manifest/godump-manifest.json", "w").write(json.dumps(
    {"format": 1, "tool": "godump", "files": [{"name": "../../etc/passwd", "size": 1, "sha256": "x"}], "complete": True}))
