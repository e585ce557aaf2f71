package enrich_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/panoptes-go/panoptes/internal/enrich"
	"github.com/panoptes-go/panoptes/internal/sim"
	"github.com/panoptes-go/panoptes/internal/snmp"
	"github.com/panoptes-go/panoptes/internal/testutil/heapsize"
)

// memoryDevices is how many devices' enrichment a memory benchmark keeps
// alive: enough that strings shared between devices cost next to nothing
// per device, as in a site of thousands of switches.
const memoryDevices = 1000

// uniqueDevices numbers devices whose aliases no other device has.
var uniqueDevices atomic.Int64

// ENTITY-MIB columns profiles cache (`enrich: true`).
const (
	entPhysicalClass = ".1.3.6.1.2.1.47.1.1.1.1.5"
	entPhysicalName  = ".1.3.6.1.2.1.47.1.1.1.1.7"
)

// BenchmarkDeviceMemory reports the heap one device's enrichment keeps
// (heap-B/device): memoryDevices collections held at once, through the
// real collection path (the simulator's switch48, 55 interfaces, over
// UDP), and the same data decoded from KV records. Run it with
//
//	go test -run '^$' -bench DeviceMemory -benchtime 1x ./internal/enrich/
func BenchmarkDeviceMemory(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	farm, err := sim.Start(ctx, sim.Options{Devices: 2, Templates: []string{"switch48", "cisco_16_switch"}, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = farm.Close() })
	pool := snmp.NewPool(snmp.PoolOptions{})
	b.Cleanup(func() { _ = pool.Close() })
	collector := func(d *sim.Device, community string, need enrich.Need) func() *enrich.Device {
		t := v2c(d.Host, d.Port, community)
		return func() *enrich.Device {
			dev, err := enrich.Collect(ctx, pool, t, func(string) enrich.Need { return need })
			if err != nil {
				b.Fatal(err)
			}
			return dev
		}
	}
	switch48 := collector(farm.Devices()[0], "public", enrich.Need{Interfaces: true})
	entity := collector(farm.Devices()[1], "public", enrich.Need{Interfaces: true, Tables: []string{entPhysicalClass, entPhysicalName}})

	b.Run("collect/switch48", func(b *testing.B) { heapPerDevice(b, switch48) })
	b.Run("collect/cisco16+entity", func(b *testing.B) { heapPerDevice(b, entity) })

	record, err := json.Marshal(switch48())
	if err != nil {
		b.Fatal(err)
	}
	b.Run("kv-decode/switch48", func(b *testing.B) {
		heapPerDevice(b, func() *enrich.Device { return decodeDevice(b, record) })
	})
	// Every device's aliases its own (never seen before, in any run): the
	// worst case for sharing strings.
	b.Run("kv-decode/switch48-unique-aliases", func(b *testing.B) {
		heapPerDevice(b, func() *enrich.Device {
			n := uniqueDevices.Add(1)
			return decodeDevice(b, []byte(strings.ReplaceAll(string(record), `"alias":"`, fmt.Sprintf(`"alias":"dev%06d `, n))))
		})
	})
}

func decodeDevice(b *testing.B, record []byte) *enrich.Device {
	d := &enrich.Device{}
	if err := json.Unmarshal(record, d); err != nil {
		b.Fatal(err)
	}
	return d
}

// heapPerDevice builds memoryDevices devices, keeps them all, and reports
// the live heap they add, per device.
func heapPerDevice(b *testing.B, build func() *enrich.Device) {
	build() // warm up sessions and buffers that are not the devices' cost
	for b.Loop() {
		b.ReportMetric(heapsize.PerItem(memoryDevices, func(int) *enrich.Device { return build() }), "heap-B/device")
	}
}
