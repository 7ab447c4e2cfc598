//go:build race

package kernel

// raceEnabled: allocation counts differ under the race detector.
const raceEnabled = true
