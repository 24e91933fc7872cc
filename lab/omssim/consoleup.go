package omssim

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"
)

// MsgInitRerun is init_record.message of a strict-profile run of docker_init.sh after a
// successful one with the same config file: init is not idempotent, the run did damage.
const MsgInitRerun = "RERUN: docker_init.sh ran again after a successful run with this config file; init is not idempotent"

// consoleUp checks (strict) that the node's console answers /oms/health: the guide sleeps
// 300 s before docker_init.sh because init needs the console that starts after nginx.
func consoleUp(ctx context.Context, e *Env) error {
	url := "http://" + net.JoinHostPort(e.HostIP, strconv.Itoa(e.HealthPort)) + "/oms/health"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	c := http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	resp, err := c.Do(req)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return nil
		}
		err = fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return fmt.Errorf("the OMS console on %s is not up yet (%v): wait until the container log says %q and /oms/health answers, then run docker_init.sh", url, err, StartedLine)
}
