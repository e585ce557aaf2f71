// Package plugintest proves that a plugin is one folder: each subfolder is
// a throwaway plugin of one family (a discovery source, a sink, a polling
// plugin), registered through the same API as the built-in ones and known
// to nothing else. The test here runs them through config loading and
// validation; nothing in the binary imports them.
package plugintest
