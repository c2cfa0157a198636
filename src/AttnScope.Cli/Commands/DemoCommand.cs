using System.CommandLine;
namespace AttnScope.Cli;
public static class DemoCommand { public static Command Create(CliOutput output) => new("demo", "todo"); }
