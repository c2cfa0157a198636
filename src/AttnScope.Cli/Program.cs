using AttnScope.Cli;

return AttnScopeCli.Run(args);
