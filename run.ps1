#!/usr/bin/env pwsh
# The YakirOS VM test suite from PowerShell (same commands as run.sh):
#   dotnet tool restore; dotnet pwsh ./run.ps1 setup | check | prepare | bench [--cold] | soak [--duration 24h] [--report-interval 1h] [--cycles 1000]
#   | [dotnet test arguments...]
# Extra arguments go to `dotnet test`, e.g. dotnet pwsh ./run.ps1 --filter Category=Harness
$ErrorActionPreference = 'Stop'
Set-Location $PSScriptRoot

$AptPackages = @('qemu-system-x86', 'qemu-utils', 'mmdebstrap', 'fakechroot', 'fakeroot', 'e2fsprogs', 'kmod', 'cpio', 'zstd', 'lz4', 'openssh-client')
$Required = [ordered]@{
    'qemu-system-x86_64' = 'qemu-system-x86'; 'qemu-img' = 'qemu-utils'; 'mmdebstrap' = 'mmdebstrap'; 'mkfs.ext4' = 'e2fsprogs'
    'modprobe' = 'kmod'; 'cpio' = 'cpio'; 'zstd' = 'zstd'; 'lz4' = 'lz4'; 'ssh-keygen' = 'openssh-client'; 'ssh' = 'openssh-client'
}

function Say([string] $message) { Write-Host "==> $message" -ForegroundColor Cyan }

function Test-Command([string] $name) {
    [bool](Get-Command $name -ErrorAction SilentlyContinue) -or (Test-Path "/usr/sbin/$name") -or (Test-Path "/sbin/$name")
}

# Where the VM runs (YAKIROS_VMHOST): host needs the host packages; container needs only a Docker engine;
# auto takes the host when its packages are there, else a container when an engine answers.
function Test-Prerequisites {
    if (-not $IsLinux) { throw 'The suite runs QEMU guests and needs a Linux host.' }
    $vmHost = if ($env:YAKIROS_VMHOST) { $env:YAKIROS_VMHOST.ToLowerInvariant() } else { 'auto' }
    if ($vmHost -eq 'container') { Test-Engine; return }
    if (Test-HostPrerequisites) { return }
    if ($vmHost -eq 'host') { exit 1 }
    Write-Host 'host QEMU cannot run the guest; looking for a container engine (YAKIROS_VMHOST=auto)'
    Test-Engine
}

function Test-Engine {
    try { Invoke-Tool engine } catch { exit 1 }  # the tool said why, and how to get an engine
}

function Test-HostPrerequisites {
    $missing = @($Required.Keys | Where-Object { -not (Test-Command $_) })
    $isRoot = (& id -u) -eq '0'
    if (-not $isRoot -and -not (Test-Command 'fakechroot')) { $missing += 'fakechroot' }
    if ($missing.Count -gt 0) {
        $packages = ($missing | ForEach-Object { if ($Required.Contains($_)) { $Required[$_] } else { $_ } } | Sort-Object -Unique) -join ' '
        Write-Host "missing host programs: $($missing -join ' ')" -ForegroundColor Red
        Write-Host "install them with:  dotnet pwsh ./run.ps1 setup   (or: sudo apt-get install -y $packages)"
        return $false
    }
    Write-Host "prerequisites: ok (dotnet $(dotnet --version), $(& qemu-system-x86_64 --version | Select-Object -First 1))"
    return $true
}

function Install-Prerequisites {
    $sudo = if ((& id -u) -eq '0') { @() } else { @('sudo') }
    Say "installing host packages: $($AptPackages -join ' ')"
    & @sudo apt-get update -qq
    if ($LASTEXITCODE -ne 0) { throw 'apt-get update failed' }
    $env:DEBIAN_FRONTEND = 'noninteractive'
    & @sudo apt-get install -y -qq --no-install-recommends @AptPackages | Out-Null
    if ($LASTEXITCODE -ne 0) { throw 'apt-get install failed' }
    Test-Prerequisites
}

$ToolDll = 'Yakiros.VmTool/bin/Release/net10.0/Yakiros.VmTool.dll'
$script:ToolBuilt = $false

function Invoke-Tool {
    if (-not $script:ToolBuilt) {
        & dotnet build Yakiros.VmTool -c Release --nologo -v q -clp:NoSummary | Out-Null
        if ($LASTEXITCODE -ne 0) { & dotnet build Yakiros.VmTool -c Release --nologo; throw 'building Yakiros.VmTool failed' }
        $script:ToolBuilt = $true
    }
    & dotnet $ToolDll @args
    if ($LASTEXITCODE -ne 0) { throw "yakiros-vmtool $($args -join ' ') failed (exit $LASTEXITCODE)" }
}

function Invoke-Tests([string[]] $extra) {
    $clock = [System.Diagnostics.Stopwatch]::StartNew()
    Test-Prerequisites
    Say 'guest image'
    Invoke-Tool prepare
    $results = Join-Path 'TestResults' (Get-Date -Format 'yyyyMMdd-HHmmss')
    Say "dotnet test -> $results"
    $env:YAKIROS_RESULTSDIR = Join-Path $PWD $results
    # -m:1: one test assembly at a time, so the harness self-test VMs never share the 2 cores with the YakirOS guest
    & dotnet test Yakiros.sln -c Release --nologo -m:1 --results-directory $results `
        --logger 'trx' `
        --logger "junit;LogFilePath=$PWD/$results/{assembly}.junit.xml;MethodFormat=Class;FailureBodyFormat=Verbose" `
        --logger 'console;verbosity=normal' @extra
    $rc = $LASTEXITCODE
    Say "summary ($results)"
    & dotnet $ToolDll summary $results
    Say "wall time: $([int]$clock.Elapsed.TotalSeconds) s for ./run.ps1 $($extra -join ' ') (the default run's targets under TCG, warm cache: 180 s with a correct YakirOS, 240 s with the published one)"
    exit $rc
}

$command = if ($args.Count -gt 0) { $args[0] } else { 'test' }
$rest = @($args | Select-Object -Skip 1)
switch ($command) {
    'setup' { Install-Prerequisites }
    'check' { Test-Prerequisites }
    'prepare' { Test-Prerequisites; Invoke-Tool prepare }
    'bench' { Test-Prerequisites; Invoke-Tool bench @rest }
    'soak' {
        $names = @{ '--duration' = 'DURATION'; '--report-interval' = 'REPORTINTERVAL'; '--cycles' = 'CYCLES'; '--sample-interval' = 'SAMPLEINTERVAL' }
        for ($i = 0; $i -lt $rest.Count; $i += 2) {
            if (-not $names.ContainsKey($rest[$i]) -or $i + 1 -ge $rest.Count) {
                Write-Host "soak: unknown option $($rest[$i]) (use --duration 24h --report-interval 1h --cycles 1000 [--sample-interval 1m])" -ForegroundColor Red
                exit 64
            }
            Set-Item "env:YAKIROS_SOAK__$($names[$rest[$i]])" $rest[$i + 1]
        }
        # without options: 60 s, a report every 20 s, 10 cycles (the default suite runs a 12-s smoke of the same test)
        foreach ($default in @(@('DURATION', '60s'), @('REPORTINTERVAL', '20s'), @('CYCLES', '10'))) {
            if (-not (Test-Path "env:YAKIROS_SOAK__$($default[0])")) { Set-Item "env:YAKIROS_SOAK__$($default[0])" $default[1] }
        }
        Say "soak: $env:YAKIROS_SOAK__DURATION, report every $env:YAKIROS_SOAK__REPORTINTERVAL, $env:YAKIROS_SOAK__CYCLES restart cycles"
        Invoke-Tests @('--filter', 'Category=Soak')
    }
    'test' { Invoke-Tests $rest }
    default { Invoke-Tests @($args) }
}
