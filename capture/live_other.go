//go:build !libpcap && !linux

package capture

// OpenLive starts a live capture. The default build captures live on Linux
// only (AF_PACKET); on this system it returns an error wrapping
// ErrNeedLibpcap: build with -tags libpcap for live capture through libpcap.
func OpenLive(cfg LiveConfig) (Live, error) {
	if _, err := cfg.withDefaults(); err != nil {
		return nil, err
	}
	return nil, &Error{File: cfg.Interface, Err: ErrNeedLibpcap}
}
