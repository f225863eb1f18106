// Entry point for running Gerrit from its Maven Central jars rather than gerrit.war.
// Gerrit's own programs (Init, Daemon) have no static main; the war's launcher
// only works from inside a war. This class calls them directly.

import com.google.gerrit.pgm.Daemon;
import com.google.gerrit.pgm.Init;
import java.util.Arrays;

public final class CrosscheckGerritLauncher {
  private CrosscheckGerritLauncher() {}

  public static void main(String[] args) throws Exception {
    if (args.length == 0) {
      System.err.println("usage: CrosscheckGerritLauncher init|daemon [gerrit options]");
      System.exit(2);
    }
    String[] rest = Arrays.copyOfRange(args, 1, args.length);
    int code;
    switch (args[0]) {
      case "init":
        code = new Init().main(rest);
        break;
      case "daemon":
        code = new Daemon().main(rest);
        break;
      default:
        System.err.println("unknown program: " + args[0]);
        code = 2;
    }
    System.exit(code);
  }
}
