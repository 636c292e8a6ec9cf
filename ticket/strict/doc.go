// Package strict decodes what a program is handed from outside — request
// bodies and configuration files — refusing whatever it would otherwise
// guess at: JSON field names match exactly (case-sensitive), a key given
// twice is an error, a key the target does not know is an error, and a body
// holds one value. TOML and YAML files get the same treatment.
//
// The device API and central's API both decode through it, so one request
// means the same on both. It holds no state and does no I/O beyond the
// reader it is given.
package strict
