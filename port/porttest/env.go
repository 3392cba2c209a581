package porttest

// Env returns the environment that points a program (or ocean.Load) at
// this server: its URL and credentials as OCEAN__PORT__… variables.
//
//	cfg, err := ocean.Load(ocean.LoadOptions{Environ: pt.Env()})
func (s *Server) Env() []string {
	return []string{
		"OCEAN__PORT__BASE_URL=" + s.URL,
		"OCEAN__PORT__CLIENT_ID=" + s.ClientID,
		"OCEAN__PORT__CLIENT_SECRET=" + s.ClientSecret,
	}
}
