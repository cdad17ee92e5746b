module plainsight/panicread

go 1.15
