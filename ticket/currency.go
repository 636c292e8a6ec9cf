package ticket

// ValidCurrency says whether c has the form of an ISO 4217 code: three
// capital letters. Records and manifest changes carry amounts with one.
func ValidCurrency(c string) bool {
	if len(c) != 3 {
		return false
	}
	for i := range len(c) {
		if c[i] < 'A' || c[i] > 'Z' {
			return false
		}
	}
	return true
}
