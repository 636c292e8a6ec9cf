// Package firmware is the device's I/O: the turnstile's relays, the green
// and red lamps, the buzzer, the passage sensor, the exit button and the
// fire-alarm input, each a GPIO line named in a board description file.
// It is the only package that imports periph.io.
//
// A Turnstile does what a gate controller expects: on an admission it
// pulses the relay of that direction (at least 100 ms, by default 200 ms),
// then watches the passage sensor for a window (by default 5 s) and says
// whether someone passed. The fire-alarm input is normally closed: while it
// is open the turnstile is released for free egress. Anything else fails
// closed: after a fault the relays stay off and the red lamp shows error
// until the next good decision.
//
// Real pins come from periph.io/x/host/v3 drivers (Raspberry Pi, generic
// sysfs and gpiochip); tests use FakeBoard, built on periph's gpiotest pins.
// The package knows nothing of tickets: it is told to admit, refuse or
// fault.
package firmware
