; Inno Setup 6.3+ script: per-user installer for the PyInstaller bundle in dist\notesearch.
; Build on Windows after `pyinstaller --noconfirm packaging\notesearch.spec`:
;   iscc /DAppVersion=0.1.0 packaging\windows\notesearch.iss
; Output: dist\notesearch-<version>-setup.exe. Not run on the development machine (Linux).

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define AppName "notesearch"
#define AppExe "notesearch-app.exe"
#define CliExe "notesearch.exe"
#define RunKey "Software\Microsoft\Windows\CurrentVersion\Run"

[Setup]
; Never change AppId: Windows finds the installed copy (upgrade, uninstall) by it.
AppId={{6B0E4F3A-2D1C-4B7E-9A51-3C8D2F7E1A40}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=notesearch developers
AppComments=Find your notes by meaning
; Per-user: no UAC prompt; {autopf} becomes %LOCALAPPDATA%\Programs in this mode.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
SetupIconFile=packaging\windows\notesearch.ico
WizardStyle=modern
Compression=lzma2/max
SolidCompression=yes
; The bundle is 64-bit Python; install it as a 64-bit program where it can run.
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
; A running notesearch (tray) holds its files open: ask the Restart Manager to close it.
CloseApplications=yes
RestartApplications=no
SourceDir=..\..
OutputDir=dist
OutputBaseFilename=notesearch-{#AppVersion}-setup

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "explorermenu"; Description: "Add ""Find similar notes"" to Explorer's menu for notes"; GroupDescription: "Integration:"; Flags: unchecked

[Files]
; Relative to SourceDir (the repository root).
Source: "dist\notesearch\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"; Comment: "Find your notes by meaning"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#CliExe}"; Parameters: "integrate install"; Flags: runhidden; Tasks: explorermenu; StatusMsg: "Adding ""Find similar notes"" to Explorer..."
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[UninstallRun]
; Removes the per-user Explorer verbs that `integrate install` (setup or the user) wrote;
; it reads its own manifest, so it is harmless when nothing was installed.
Filename: "{app}\{#CliExe}"; Parameters: "integrate uninstall"; Flags: runhidden waituntilterminated; RunOnceId: "IntegrateUninstall"

[Code]
// "Launch at login" (notesearch.platform.autostart) writes HKCU\...\Run\notesearch; a value
// left behind would start a program that no longer exists at every login.
procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  if CurUninstallStep = usUninstall then
    RegDeleteValue(HKEY_CURRENT_USER, '{#RunKey}', '{#AppName}');
end;
