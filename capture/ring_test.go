package capture

// minBufSize is the block size of the test variants whose records cross
// block boundaries ("small"); TestSpanningRecords goes down to one byte.
const minBufSize = 4096
