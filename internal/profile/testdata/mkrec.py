# Generates the hand-written vendor recordings in this directory, following each
# vendor's MIB (OIDs, types, realistic values). Run from this directory:
#   python3 mkrec.py
# Format: OID|type|value (2 INTEGER, 4 OCTET STRING, 6 OID, 65 Counter32,
# 66 Gauge32, 67 TimeTicks, 70 Counter64), sorted by OID.
import sys
def write(name, recs):
    recs = sorted(recs, key=lambda r: [int(x) for x in r[0].split('.')])
    with open(name + '.snmprec', 'w') as f:
        for oid, typ, val in recs:
            f.write(f"{oid}|{typ}|{val}\n")

def system(descr, oid, name):
    return [("1.3.6.1.2.1.1.1.0", 4, descr), ("1.3.6.1.2.1.1.2.0", 6, oid),
            ("1.3.6.1.2.1.1.3.0", 67, 123456789), ("1.3.6.1.2.1.1.5.0", 4, name)]

# Juniper MX480: JUNIPER-MIB jnxOperatingTable (.1.3.6.1.4.1.2636.3.1.13.1)
J = "1.3.6.1.4.1.2636.3.1.13.1"
rows = [  # index, descr, state, temp, cpu, buffer, heap, memory MB
    ("1.1.0.0", "midplane", 2, 31, 0, 0, 0, 0),
    ("2.1.0.0", "PEM 0", 2, 35, 0, 0, 0, 0),
    ("2.2.0.0", "PEM 1", 2, 36, 0, 0, 0, 0),
    ("2.3.0.0", "PEM 2", 6, 0, 0, 0, 0, 0),
    ("4.1.1.0", "Top Fan Tray Fan 1", 2, 0, 0, 0, 0, 0),
    ("4.1.2.0", "Top Fan Tray Fan 2", 5, 0, 0, 0, 0, 0),
    ("4.2.1.0", "Bottom Fan Tray Fan 1", 6, 0, 0, 0, 0, 0),
    ("7.1.0.0", "FPC: MPC7E 3D 40XGE @ 0/*/*", 2, 45, 12, 41, 24, 2048),
    ("9.1.0.0", "Routing Engine 0", 2, 38, 7, 63, 0, 16384),
    ("9.2.0.0", "Routing Engine 1", 7, 36, 2, 40, 0, 16384),
]
recs = system("Juniper Networks, Inc. mx480 internet router, kernel JUNOS 21.4R3-S4.9", "1.3.6.1.4.1.2636.1.1.1.2.25", "mx480-lab")
for idx, descr, state, temp, cpu, buf, heap, mem in rows:
    c = [int(x) for x in idx.split('.')]
    recs += [(f"{J}.1.{idx}", 2, c[0]), (f"{J}.2.{idx}", 2, c[1]), (f"{J}.3.{idx}", 2, c[2]), (f"{J}.4.{idx}", 2, c[3]),
             (f"{J}.5.{idx}", 4, descr), (f"{J}.6.{idx}", 2, state), (f"{J}.7.{idx}", 66, temp), (f"{J}.8.{idx}", 66, cpu),
             (f"{J}.9.{idx}", 66, 0), (f"{J}.10.{idx}", 2, 0), (f"{J}.11.{idx}", 66, buf), (f"{J}.12.{idx}", 66, heap),
             (f"{J}.13.{idx}", 67, 98765432 if mem else 0), (f"{J}.15.{idx}", 2, mem)]
write("juniper_mx480", recs)

# Cisco Nexus 93180YC-EX: CISCO-PROCESS-MIB, CISCO-ENTITY-FRU-CONTROL-MIB, CISCO-ENTITY-SENSOR-MIB, ENTITY-MIB.
recs = system("Cisco NX-OS(tm) nxos.9.3.10.bin, Software (nxos), Version 9.3(10)", "1.3.6.1.4.1.9.12.3.1.3.1812", "n9k-lab")
P = "1.3.6.1.4.1.9.9.109.1.1.1.1"
recs += [(f"{P}.2.1", 2, 22), (f"{P}.6.1", 66, 14), (f"{P}.7.1", 66, 11), (f"{P}.8.1", 66, 9),
         (f"{P}.12.1", 66, 6234000), (f"{P}.13.1", 66, 10100000)]
ents = {22: ("Slot 1", 9), 21590: ("module-1 FRONT", 8), 21591: ("module-1 BACK", 8), 21592: ("module-1 CPU", 8),
        300000013: ("Ethernet1/1 Lane 1 Transceiver Receive Power Sensor", 8),
        470: ("PowerSupply-1", 6), 471: ("PowerSupply-2", 6), 534: ("Fan Module-1", 7), 535: ("Fan Module-2", 7),
        536: ("Fan Module-3", 7), 537: ("Fan Module-4", 7)}
for i, (n, cls) in ents.items():
    recs += [(f"1.3.6.1.2.1.47.1.1.1.1.2.{i}", 4, n), (f"1.3.6.1.2.1.47.1.1.1.1.5.{i}", 2, cls), (f"1.3.6.1.2.1.47.1.1.1.1.7.{i}", 4, n)]
S = "1.3.6.1.4.1.9.9.91.1.1.1.1"
for i, typ, scale, prec, val, status in [(21590, 8, 9, 0, 34, 1), (21591, 8, 9, 0, 41, 1), (21592, 8, 9, 1, 555, 1),
                                         (300000013, 14, 9, 2, -312, 1)]:
    recs += [(f"{S}.1.{i}", 2, typ), (f"{S}.2.{i}", 2, scale), (f"{S}.3.{i}", 2, prec), (f"{S}.4.{i}", 2, val),
             (f"{S}.5.{i}", 2, status)]
for i, st in [(534, 2), (535, 2), (536, 2), (537, 3)]:
    recs.append((f"1.3.6.1.4.1.9.9.117.1.4.1.1.1.{i}", 2, st))
for i, st in [(470, 2), (471, 8)]:
    recs += [(f"1.3.6.1.4.1.9.9.117.1.1.2.1.1.{i}", 2, 1), (f"1.3.6.1.4.1.9.9.117.1.1.2.1.2.{i}", 2, st)]
write("cisco_nxos", recs)

# Arista 7050SX3: HOST-RESOURCES-MIB, ENTITY-MIB, ENTITY-SENSOR-MIB, ENTITY-STATE-MIB.
def entity_device(recs, ents, sensors, states):
    for i, (descr, name, cls) in ents.items():
        recs += [(f"1.3.6.1.2.1.47.1.1.1.1.2.{i}", 4, descr), (f"1.3.6.1.2.1.47.1.1.1.1.5.{i}", 2, cls),
                 (f"1.3.6.1.2.1.47.1.1.1.1.7.{i}", 4, name)]
    E = "1.3.6.1.2.1.99.1.1.1"
    for i, typ, scale, prec, val, status in sensors:
        recs += [(f"{E}.1.{i}", 2, typ), (f"{E}.2.{i}", 2, scale), (f"{E}.3.{i}", 2, prec), (f"{E}.4.{i}", 2, val),
                 (f"{E}.5.{i}", 2, status), (f"{E}.6.{i}", 4, "")]
    for i, oper in states:
        recs += [(f"1.3.6.1.2.1.131.1.1.1.2.{i}", 2, 4), (f"1.3.6.1.2.1.131.1.1.1.3.{i}", 2, oper)]
    return recs

recs = system("Arista Networks EOS version 4.28.3M running on an Arista Networks DCS-7050SX3-48YC8", "1.3.6.1.4.1.30065.1.3011.7050.3282.48", "arista-lab")
recs += [("1.3.6.1.2.1.25.3.2.1.3.196608", 4, "AMD GX-424CC SOC with Radeon(TM) R5E Graphics"),
         ("1.3.6.1.2.1.25.3.2.1.3.196609", 4, "AMD GX-424CC SOC with Radeon(TM) R5E Graphics"),
         ("1.3.6.1.2.1.25.3.3.1.2.196608", 2, 8), ("1.3.6.1.2.1.25.3.3.1.2.196609", 2, 5)]
H = "1.3.6.1.2.1.25.2.3.1"
for i, typ, descr, units, size, used in [(1, "1.3.6.1.2.1.25.2.1.2", "RAM", 1024, 8024520, 4034012),
                                         (2, "1.3.6.1.2.1.25.2.1.9", "Flash", 4096, 993488, 187334),
                                         (3, "1.3.6.1.2.1.25.2.1.1", "Buffer memory", 1024, 8024520, 120344)]:
    recs += [(f"{H}.1.{i}", 2, i), (f"{H}.2.{i}", 6, typ), (f"{H}.3.{i}", 4, descr), (f"{H}.4.{i}", 2, units),
             (f"{H}.5.{i}", 2, size), (f"{H}.6.{i}", 2, used)]
ents = {1: ("DCS-7050SX3-48YC8 Chassis", "", 3), 100006001: ("Cpu temp sensor", "", 8),
        100006002: ("Cpu board temp sensor", "", 8), 100601000: ("Fan Tray 1", "", 7), 100601110: ("Fan Tray 1 Fan 1 Sensor 1", "", 8),
        100602000: ("Fan Tray 2", "", 7), 100602110: ("Fan Tray 2 Fan 1 Sensor 1", "", 8),
        100711000: ("Power Supply Slot 1", "", 6), 100711102: ("Power supply sensor 2", "", 8),
        100721000: ("Power Supply Slot 2", "", 6)}
sensors = [(100006001, 8, 9, 1, 524, 1), (100006002, 8, 9, 1, 387, 1), (100601110, 10, 9, 0, 5400, 1),
           (100602110, 10, 9, 0, 0, 3), (100711102, 4, 9, 2, 1201, 1)]
recs = entity_device(recs, ents, sensors, [(100711000, 3), (100721000, 2)])
write("arista_eos", recs)

# A generic ENTITY-SENSOR-MIB device (an HP ProCurve sysObjectID, no vendor profile).
recs = system("HP J9729A 2920-48G-POE+ Switch, revision WB.16.10.0012", "1.3.6.1.4.1.11.2.3.7.11.153", "generic-lab")
ents = {1: ("2920-48G-POE+ Switch", "Chassis", 3), 10: ("Power Supply 1", "PSU 1", 6), 11: ("Power Supply 2", "PSU 2", 6),
        20: ("Fan 1", "Fan 1", 7), 21: ("Fan 1 speed sensor", "Fan 1 RPM", 8), 30: ("Chassis temperature", "Chassis Temp", 8),
        31: ("Inlet temperature", "Inlet Temp", 8)}
sensors = [(21, 10, 9, 0, 3300, 1), (30, 8, 9, 0, 29, 1), (31, 8, 8, 0, 23500, 1), (32, 8, 9, 0, 0, 2)]
recs = entity_device(recs, ents, sensors, [(10, 3), (11, 3)])
write("entity_sensor", recs)

# F5 BIG-IP (synthetic, written from F5-BIGIP-LOCAL-MIB's structure, not
# recorded from a device): ltmVsStatusTable, ltmVirtualServTable (port),
# ltmVirtualServStatTable, ltmPoolMbrStatusTable, ltmPoolMemberStatTable.
def strindex(s):
    return f"{len(s)}." + ".".join(str(ord(c)) for c in s)
recs = system("BIG-IP Virtual Edition : Linux 3.10.0-862.14.4.el7.ve.x86_64 : BIG-IP software release 16.1.3, build 0.0.3",
              "1.3.6.1.4.1.3375.2.1.3.4.43", "bigip-lab")
VS = "1.3.6.1.4.1.3375.2.2.10"
vss = [  # name, avail, enabled, port, bytes in, bytes out, total conns, current conns
    ("/Common/vs_web", 1, 1, 443, 98765432101, 876543210987, 1234567, 321),
    ("/Common/vs_api", 3, 1, 8443, 5555555, 66666666, 4242, 0),
    ("/Tenant/vs_old", 4, 2, 80, 0, 0, 0, 0),
]
for name, avail, en, port, bin_, bout, tot, cur in vss:
    i = strindex(name)
    recs += [(f"{VS}.13.2.1.1.{i}", 4, name), (f"{VS}.13.2.1.2.{i}", 2, avail), (f"{VS}.13.2.1.3.{i}", 2, en),
             (f"{VS}.13.2.1.5.{i}", 4, "The virtual server is available" if avail == 1 else "The children pool member(s) are down"),
             (f"{VS}.1.2.1.1.{i}", 4, name), (f"{VS}.1.2.1.2.{i}", 2, 1), (f"{VS}.1.2.1.6.{i}", 2, port),
             (f"{VS}.2.3.1.1.{i}", 4, name), (f"{VS}.2.3.1.7.{i}", 70, bin_), (f"{VS}.2.3.1.9.{i}", 70, bout),
             (f"{VS}.2.3.1.11.{i}", 70, tot), (f"{VS}.2.3.1.12.{i}", 70, cur)]
PM = "1.3.6.1.4.1.3375.2.2.5"
members = [  # pool, node, port, avail, enabled, bytes in, bytes out, total conns, current conns
    ("/Common/web_pool", "/Common/10.0.0.11", 80, 1, 1, 4444444444, 55555555555, 600000, 160),
    ("/Common/web_pool", "/Common/10.0.0.12", 80, 3, 1, 3333, 4444, 12, 0),
    ("/Common/api_pool", "/Common/api1", 8443, 1, 1, 2222222, 3333333, 4000, 7),
    ("/Common/api_pool", "/Common/api2", 8443, 1, 2, 0, 0, 0, 0),
]
for pool, node, port, avail, en, bin_, bout, tot, cur in members:
    i = f"{strindex(pool)}.{strindex(node)}.{port}"
    recs += [(f"{PM}.6.2.1.1.{i}", 4, pool), (f"{PM}.6.2.1.2.{i}", 2, 1), (f"{PM}.6.2.1.4.{i}", 66, port),
             (f"{PM}.6.2.1.5.{i}", 2, avail), (f"{PM}.6.2.1.6.{i}", 2, en), (f"{PM}.6.2.1.8.{i}", 4, "Pool member is available" if avail == 1 else "Pool member has been marked down by a monitor"),
             (f"{PM}.6.2.1.9.{i}", 4, node),
             (f"{PM}.4.3.1.1.{i}", 4, pool), (f"{PM}.4.3.1.6.{i}", 70, bin_), (f"{PM}.4.3.1.8.{i}", 70, bout),
             (f"{PM}.4.3.1.10.{i}", 70, tot), (f"{PM}.4.3.1.11.{i}", 70, cur)]
write("f5_bigip", recs)
