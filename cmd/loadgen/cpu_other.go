//go:build !unix

package main

import "time"

// processCPU is not measured here: CPU per request is reported as 0.
func processCPU() time.Duration { return 0 }
