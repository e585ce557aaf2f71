package node

import (
	"github.com/panoptes-go/panoptes/internal/config"
	"github.com/panoptes-go/panoptes/internal/poll"
	"github.com/panoptes-go/panoptes/internal/snmp"
)

// SNMPOptions converts the config's snmp block into what poll builds
// targets from: the config stays out of poll and snmp.
func SNMPOptions(c config.SNMP) poll.SNMPOptions {
	o := poll.SNMPOptions{
		Port: c.Port, Timeout: c.Timeout.D(), Retries: c.Retries, MaxRepetitions: c.MaxRepetitions,
		Credential: c.Credential, Credentials: make(map[string]snmp.Credential, len(c.Credentials)),
	}
	for name, cred := range c.Credentials {
		o.Credentials[name] = cred.SNMP()
	}
	return o
}
