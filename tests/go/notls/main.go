// A Go program without crypto/tls, for tests/e2e/test_gotls.py: gotls's
// discovery must leave it alone. It prints its arguments, sleeps the seconds
// its first argument says, and exits.
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	seconds := 0.0
	if len(os.Args) > 1 {
		seconds, _ = strconv.ParseFloat(os.Args[1], 64)
	}
	fmt.Println("notls", os.Args[1:])
	time.Sleep(time.Duration(seconds * float64(time.Second)))
}
