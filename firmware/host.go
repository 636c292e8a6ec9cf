package firmware

import (
	"fmt"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/host/v3"
)

// OpenHost opens bf's lines on this machine's GPIO through periph's host
// drivers (Raspberry Pi, Allwinner, generic sysfs and gpiochip).
func OpenHost(bf BoardFile) (*Board, error) {
	if _, err := host.Init(); err != nil {
		return nil, fmt.Errorf("gpio drivers: %w", err)
	}
	return Open(bf, func(name string) gpio.PinIO {
		if p := gpioreg.ByName(name); p != nil {
			return p
		}
		return nil
	})
}
